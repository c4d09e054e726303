/*
 * test_path.c — the checked path builder (nerve/internal/path.h): a path
 * that fits is formatted as snprintf would; one that does not is an error
 * naming its start, and leaves an empty string, never a cut path.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "nerve/core.h"
#include "nerve/internal/path.h"

Test(path, a_path_that_fits_is_formatted_as_snprintf_would)
{
    char out[32];
    cr_assert_eq(nerve_path(out, sizeof out, "%s/%s.%d.npy", "study", "acts", 3), 0);
    cr_assert_str_eq(out, "study/acts.3.npy");
}

Test(path, exactly_full_fits_one_more_is_refused)
{
    char out[8];
    cr_assert_eq(nerve_path(out, sizeof out, "%s/b", "abcde"), 0, "7 characters and the NUL fit in 8");
    cr_assert_str_eq(out, "abcde/b");
    cr_assert_eq(nerve_path(out, sizeof out, "%s/bc", "abcde"), NERVE_EINPUT);
    cr_assert_str_eq(out, "", "a cut path must not be left to open");
}

Test(path, the_error_names_the_start_of_the_path_and_says_why)
{
    char dir[5000], out[4096];
    memset(dir, 'd', sizeof dir - 1);
    dir[sizeof dir - 1] = '\0';
    memcpy(dir, "/tmp/study-", 11);
    cr_assert_eq(nerve_path(out, sizeof out, "%s/manifest.json", dir), NERVE_EINPUT);
    cr_assert_str_eq(out, "");
    cr_assert(strstr(nerve_error(), "/tmp/study-ddd"), "%s", nerve_error());
    cr_assert(strstr(nerve_error(), "longer than nerve handles"), "%s", nerve_error());
    cr_assert(strlen(nerve_error()) < 300, "the message quotes the start only: %s", nerve_error());
    cr_assert_eq(nerve_exit_status(NERVE_EINPUT), 2);
}

Test(path, no_room_at_all_is_refused_without_writing)
{
    char guard = 'x';
    cr_assert_eq(nerve_path(&guard, 0, "%s", "a"), NERVE_EINPUT);
    cr_assert_eq(guard, 'x');
}
