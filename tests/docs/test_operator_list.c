/*
 * test_operator_list.c — the operator list in docs/commands.md (between
 * "<!-- nerve layers --ops -->" and "<!-- end -->") is the engine's own
 * table, the one `nerve layers --ops` prints: an operator added to the
 * engine and not to the page, or the other way round, fails here.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nerve/nn.h"

/* The page's list as one line: its lines joined by single spaces. */
static void documented_ops(char *out, size_t size)
{
    FILE *f = fopen("docs/commands.md", "r");
    cr_assert(f, "cannot open docs/commands.md");
    char line[1024];
    int inside = 0;
    size_t len = 0;
    out[0] = '\0';
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        if (strcmp(line, "<!-- nerve layers --ops -->") == 0) {
            inside = 1;
        } else if (inside && strcmp(line, "<!-- end -->") == 0) {
            inside = 2;
            break;
        } else if (inside) {
            int n = snprintf(out + len, size - len, "%s%s", len ? " " : "", line);
            cr_assert(n > 0 && (size_t)n < size - len, "the documented list is too long");
            len += (size_t)n;
        }
    }
    fclose(f);
    cr_assert_eq(inside, 2, "docs/commands.md has no '<!-- nerve layers --ops -->' ... '<!-- end -->' list");
}

Test(docs, the_operator_list_is_the_engines)
{
    char documented[8192];
    documented_ops(documented, sizeof documented);
    cr_assert_str_eq(documented, nerve_nn_supported_ops(),
                     "docs/commands.md lists\n%s\nthe engine runs (nerve layers --ops)\n%s",
                     documented, nerve_nn_supported_ops());
}
