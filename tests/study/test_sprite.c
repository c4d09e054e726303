/*
 * test_sprite.c — the thumbnail sprite in pages (issue 22): 250 inputs in
 * pages of 100 are three PNGs as wide as a full page, the last one shorter,
 * and each input's cell on its page holds the pixels its cell holds in the
 * one-page sprite of the same inputs (the same thumbnail, wherever it is).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "nerve/study.h"
#include "../../src/study/study_internal.h"
#include "../support/support.h"

Test(sprite, pages_hold_the_same_thumbnails_as_one_sheet)
{
    nerve_inputs in;
    cr_assert_eq(nerve_inputs_open(&in, "fashion-mnist:test", 1, NULL), 0, "%s", nerve_error());
    char one[4096], paged[4096], page[4200];
    snprintf(one, sizeof one, "%s", temp_path("sprite-one.png"));
    snprintf(paged, sizeof paged, "%s", temp_path("sprite-paged.png"));
    sprite_info a, b;
    cr_assert_eq(sprite_write_paged(one, &in, 250, 1000, &a), 0, "%s", nerve_error());
    cr_assert_eq(sprite_write_paged(paged, &in, 250, 100, &b), 0, "%s", nerve_error());
    cr_assert(a.pages == 1 && a.columns == 16 && a.count == 250);
    cr_assert(b.pages == 3 && b.columns == 10 && b.count == 250 && b.per_page == 100 && b.side == 28);
    nerve_image sheet;
    cr_assert_eq(nerve_image_read(&sheet, one, 0), 0, "%s", nerve_error());
    for (int64_t p = 0; p < 3; p++) {
        nerve_image img;
        cr_assert_eq(sprite_page_path(page, sizeof page, paged, p), 0);
        cr_assert_eq(nerve_image_read(&img, page, 0), 0, "%s: %s", page, nerve_error());
        cr_assert_eq(img.width, 10 * 28);
        cr_assert_eq(img.height, (p < 2 ? 10 : 5) * 28, "page %lld", (long long)p);
        for (int64_t i = p * 100; i < 250 && i < (p + 1) * 100; i += 7) {
            int64_t k = i - p * 100, x = k % 10 * 28, y = k / 10 * 28, sx = i % 16 * 28, sy = i / 16 * 28;
            for (int64_t r = 0; r < 28; r++)
                cr_assert_eq(memcmp(img.pixels + (y + r) * img.width + x, sheet.pixels + (sy + r) * sheet.width + sx, 28),
                             0, "input %lld, row %lld", (long long)i, (long long)r);
        }
        nerve_image_free(&img);
    }
    cr_assert_eq(sprite_page_path(page, sizeof page, "inputs/sprite.png", 2), 0);
    cr_assert_str_eq(page, "inputs/sprite.2.png");
    nerve_image_free(&sheet);
    nerve_inputs_free(&in);
}
