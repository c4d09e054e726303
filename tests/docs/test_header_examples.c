/*
 * test_header_examples.c — every public header's opening example is real
 * code: it is cut out of the header, put in a main(), compiled against
 * this build's libnerve.a and run in a folder holding the files the
 * examples name (acts.npy, a.npy, b.npy, model.onnx). A header whose
 * example no longer compiles or fails at run time fails here.
 *
 * The example is the first run of lines indented by four or more spaces
 * inside the header's opening comment (blank comment lines may sit inside
 * it). It is the body of `int main(void)`, which returns 0 after it.
 */
#include <criterion/criterion.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../support/support.h"

/* Appends the example of header `path` to out (a main() around it). */
static void write_example_program(FILE *out, const char *header)
{
    char path[512];
    snprintf(path, sizeof path, "include/nerve/%s.h", header);
    FILE *in = fopen(path, "r");
    cr_assert(in, "cannot open %s", path);
    fprintf(out, "#include <math.h>\n#include <stdio.h>\n#include <stdlib.h>\n#include \"nerve/%s.h\"\n\n"
                 "int main(void)\n{\n", header);
    char line[1024];
    int in_block = 0, done = 0, lines = 0;
    while (!done && fgets(line, sizeof line, in)) {
        if (strstr(line, "*/"))
            break;
        int code = strncmp(line, " *     ", 7) == 0;
        int blank = strcmp(line, " *\n") == 0;
        if (code) {
            fputs(line + 3, out);
            in_block = 1;
            lines++;
        } else if (in_block && blank) {
            fputc('\n', out);
        } else if (in_block) {
            done = 1;
        }
    }
    fclose(in);
    cr_assert_gt(lines, 0, "%s has no example in its opening comment", path);
    fprintf(out, "    return 0;\n}\n");
}

/* The folder of this build (that of $NERVE_BIN), where libnerve.a is. */
static const char *build_folder(void)
{
    static char dir[4096];
    const char *bin = getenv("NERVE_BIN");
    snprintf(dir, sizeof dir, "%s", bin ? bin : "build/nerve");
    return dirname(dir);
}

static void run(const char *command)
{
    int status = system(command);
    cr_assert_eq(status, 0, "failed (status %d): %s", status, command);
}

/* Compiles header's example into a program in a fresh folder holding the
 * fixture files (and, with a study, a small study made by nerve extract),
 * and runs it there. */
static void compile_and_run_in(const char *header, int with_study)
{
    char dir[4096], src[4200], command[16384];
    snprintf(dir, sizeof dir, "%s", temp_path(header));
    snprintf(command, sizeof command, "mkdir -p '%s' && cp '%s' '%s/acts.npy' && cp '%s' '%s/a.npy' && cp '%s' '%s/b.npy'"
             " && cp '%s' '%s/model.onnx'", dir, fixture("mapper/acts.points.npy"), dir, fixture("sim/a.npy"), dir,
             fixture("sim/b.npy"), dir, fixture("nn/small_cnn.onnx"), dir);
    run(command);
    if (with_study) {
        const char *bin = getenv("NERVE_BIN") ? getenv("NERVE_BIN") : "build/nerve";
        snprintf(command, sizeof command, "%s extract -q -m '%s/model.onnx' -d fashion-mnist:test -n 50 -o '%s/study'",
                 bin, dir, dir);
        run(command);
    }
    snprintf(src, sizeof src, "%s/example.c", dir);
    FILE *out = fopen(src, "w");
    cr_assert(out);
    write_example_program(out, header);
    fclose(out);

#ifdef __SANITIZE_ADDRESS__
    const char *sanitize = "-fsanitize=address,undefined";
#else
    const char *sanitize = "";
#endif
    /* Paths as the build gave them are relative to the repository. */
    char *cwd = getcwd(NULL, 0), lib[8192];
    const char *build = build_folder();
    if (build[0] == '/')
        snprintf(lib, sizeof lib, "%s/libnerve.a", build);
    else
        snprintf(lib, sizeof lib, "%s/%s/libnerve.a", cwd, build);
    /* The libraries nerve links, as the Makefile lists them (make check
     * passes them); the others it opens itself when first used. */
    const char *linked = getenv("NERVE_LINKED") ? getenv("NERVE_LINKED") : "jansson stb zlib libprotobuf-c libpng libjpeg";
    snprintf(command, sizeof command,
             "cc -std=c17 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -Werror %s -I'%s/include' '%s' '%s' "
             "$(pkg-config --libs %s) -fopenmp -lm -o '%s/example' && cd '%s' && ./example",
             sanitize, cwd, src, lib, linked, dir, dir);
    free(cwd);
    run(command);
}

static void compile_and_run(const char *header)
{
    compile_and_run_in(header, 0);
}

Test(header_examples, core) { compile_and_run("core"); }
Test(header_examples, nn) { compile_and_run("nn"); }
Test(header_examples, ph) { compile_and_run("ph"); }
Test(header_examples, study, .timeout = 120) { compile_and_run("study"); }
Test(header_examples, serve, .timeout = 120) { compile_and_run_in("serve", 1); }
Test(header_examples, knn) { compile_and_run("knn"); }
Test(header_examples, mapper) { compile_and_run("mapper"); }
Test(header_examples, sim) { compile_and_run("sim"); }
Test(header_examples, embed) { compile_and_run("embed"); }
Test(header_examples, findings) { compile_and_run("findings"); }
Test(header_examples, featvis) { compile_and_run("featvis"); }
