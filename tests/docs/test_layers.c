/*
 * test_layers.c — scripts/check-layers.sh (make check-layers) passes on the
 * repository and fails, naming the file and the header, on a copy of it
 * with a planted include of a room below (core including serve) or beside.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../support/support.h"

/* Runs the checker on root; its exit status, its stderr into err. */
static int check_layers(const char *root, char *err, size_t size)
{
    char command[8300];
    const char *log = temp_path("check-layers.log");
    snprintf(command, sizeof command, "scripts/check-layers.sh '%s' >/dev/null 2>'%s'", root, log);
    int status = system(command);
    FILE *f = fopen(log, "r");
    size_t n = f ? fread(err, 1, size - 1, f) : 0;
    err[n] = '\0';
    if (f)
        fclose(f);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* A copy of src/ and include/ in a fresh folder, with `line` added to the
 * top of file (relative to the copy). */
static const char *copy_with_include(const char *name, const char *file, const char *line)
{
    static char root[4096];
    snprintf(root, sizeof root, "%s", temp_path(name));
    char command[16384];
    snprintf(command, sizeof command,
             "mkdir -p '%s' && cp -r src include scripts '%s/' && { echo '%s'; cat '%s/%s'; } > '%s/planted' && "
             "mv '%s/planted' '%s/%s'", root, root, line, root, file, root, root, root, file);
    cr_assert_eq(system(command), 0, "%s", command);
    return root;
}

Test(layers, the_repository_keeps_the_room_rule)
{
    char err[4096];
    cr_assert_eq(check_layers(".", err, sizeof err), 0, "%s", err);
}

Test(layers, an_include_of_a_room_below_is_caught)
{
    char err[4096];
    const char *root = copy_with_include("below", "src/core/array.c", "#include \"nerve/serve.h\"");
    cr_assert_eq(check_layers(root, err, sizeof err), 1, "%s", err);
    cr_assert(strstr(err, "src/core/array.c:1") && strstr(err, "nerve/serve.h"), "%s", err);
}

Test(layers, a_sideways_reach_into_another_rooms_folder_is_caught)
{
    char err[4096];
    const char *root = copy_with_include("beside", "src/ph/rips.c", "#include \"../sim/sim_internal.h\"");
    cr_assert_eq(check_layers(root, err, sizeof err), 1, "%s", err);
    cr_assert(strstr(err, "src/ph/rips.c:1") && strstr(err, "sim_internal.h"), "%s", err);
}

Test(layers, a_room_using_one_beside_it_is_caught)
{
    char err[4096];
    /* mapper and ph are side by side in the list; ph comes after mapper, so
     * mapper may not use it. */
    const char *root = copy_with_include("sibling", "src/mapper/graph.c", "#include \"nerve/ph.h\"");
    cr_assert_eq(check_layers(root, err, sizeof err), 1, "%s", err);
    cr_assert(strstr(err, "src/mapper/graph.c:1"), "%s", err);
}
