/*
 * support.h — helpers the tests share: fixture and temporary paths, array
 * comparison, hand-made bad files, and running the nerve binary.
 */
#ifndef NERVE_TEST_SUPPORT_H
#define NERVE_TEST_SUPPORT_H

#include <stddef.h>

#include "nerve/core.h"
#include "nerve/study.h"

/* SANITIZED_BUILD is 1 in the ASan + UBSan build. Tests of numerical
 * quality against a peer or of long UI flows set .disabled = SANITIZED_BUILD:
 * their code paths run under the sanitizers through smaller tests (the
 * exact and approximate t-SNE in tsne/thread_count_changes_nothing, the
 * served viewer and the report in browser/hostile_names_...), and their
 * figures are the plain build's to check (docs/testing.md). */
#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED_BUILD 1
#else
#define SANITIZED_BUILD 0
#endif

/* tests/fixtures/<rel> (or $NERVE_TESTDATA/<rel>); a static buffer per call
 * slot, so up to four results may be used at once. */
const char *fixture(const char *rel);

/* A path inside a fresh temporary folder, removed when the test exits. */
const char *temp_path(const char *name);

void write_bytes(const char *path, const void *data, size_t len);
/* write_bytes of a string literal, without its terminating NUL. */
#define write_literal(path, lit) write_bytes((path), (lit), sizeof(lit) - 1)

/* Writes a .npy file with the given version and header text verbatim (the
 * length field is computed), followed by data_len zero bytes. */
void write_npy_raw(const char *path, int major, const char *header, size_t data_len);

/* Asserts that got has the shape, type and values of the .npy at
 * expect_path (float32 within tol, exactly for int64). */
void assert_same_as(const nerve_array *got, const char *expect_path, double tol);

/* Extraction options for the fixture CNN (nn/small_cnn.onnx) over the
 * first `limit` Fashion-MNIST test images into the study `out`, the rest
 * nerve's defaults. */
nerve_extract_options fixture_study_options(const char *out, int64_t limit);

/* Runs build/nerve ($NERVE_BIN) with args (NULL-terminated); returns the
 * exit status and the captured stdout and stderr (static buffers). */
int run_nerve(const char **args, const char **out, const char **err);

/* ---- HTTP (http.c) ---------------------------------------------------------- */

#include <sys/types.h>

typedef struct http_reply {
    int    status;
    char  *body;   /* malloc'd, NUL-terminated */
    size_t len;
} http_reply;

/* GET path, sent exactly as given, from 127.0.0.1:port (Connection: close). */
int   http_get(http_reply *r, int port, const char *path);
/* Runs nerve with args (NULL-terminated) until it prints the address it
 * serves at, http://127.0.0.1:<port>/; its pid, and *port. */
pid_t spawn_server(const char **args, int *port);
/* `nerve serve --port 0 study`. */
pid_t serve_study(const char *study, int *port);
/* SIGINT, then its exit status. */
int   stop_serving(pid_t pid);

#endif
