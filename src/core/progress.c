/*
 * progress.c — a progress bar on stderr for long work (count, rate, ETA),
 * drawn only when stderr is a terminal and nerve is not quiet; and the clock.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "nerve/core.h"

static int quiet;
static volatile sig_atomic_t interrupted, catching;

/* SIGINT, SIGTERM, SIGHUP. A command that catches interrupts stops at the
 * first one between two units of work, keeping what it can resume; any
 * other signal of these (a second Ctrl-C, or the first for a command that
 * does not catch them) ends the process at once. Either way the process's
 * temporary files go: a kill leaves the old outputs, not `*.tmp.<pid>`. */
static void on_signal(int sig)
{
    if (catching && !interrupted) {
        static const char note[] = "\nnerve: stopping after the current step; press Ctrl-C again to quit at once\n";
        interrupted = 1;
        if (!quiet && write(STDERR_FILENO, note, sizeof note - 1) < 0) {
            /* nothing to do about a closed stderr */
        }
        return;
    }
    nerve_temporaries_remove();
    signal(sig, SIG_DFL);   /* die of the signal itself, so the parent sees it */
    raise(sig);
}

static void install(void)
{
    static int done;
    if (done)
        return;
    done = 1;
    struct sigaction sa = { 0 };
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
}

void nerve_signals_install(void)
{
    install();
}

void nerve_catch_interrupts(void)
{
    install();
    catching = 1;
}

int nerve_interrupted(void)
{
    return interrupted;
}

void nerve_set_quiet(int q)
{
    quiet = q;
}

int nerve_quiet(void)
{
    return quiet;
}

double nerve_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void nerve_progress_begin_to(nerve_progress *p, FILE *out, const char *label, int64_t total)
{
    p->out = out;
    p->label = label;
    p->total = total;
    p->done = 0;
    p->start = nerve_now();
    p->last_draw = 0;
}

void nerve_progress_begin(nerve_progress *p, const char *label, int64_t total)
{
    int on = !quiet && isatty(STDERR_FILENO);
    nerve_progress_begin_to(p, on ? stderr : NULL, label, total);
}

static void format_seconds(char *out, size_t cap, double s)
{
    if (s < 0 || s > 1e7)
        snprintf(out, cap, "--:--");
    else if (s >= 3600)
        snprintf(out, cap, "%d:%02d:%02d", (int)s / 3600, (int)s / 60 % 60, (int)s % 60);
    else
        snprintf(out, cap, "%02d:%02d", (int)s / 60, (int)s % 60);
}

static void draw(nerve_progress *p, double now)
{
    enum { WIDTH = 30 };
    double elapsed = now - p->start;
    double frac = p->total > 0 ? (double)p->done / (double)p->total : 0;
    double rate = elapsed > 0 ? (double)p->done / elapsed : 0;
    char eta[16];
    format_seconds(eta, sizeof eta, rate > 0 ? (double)(p->total - p->done) / rate : -1);
    char bar[WIDTH + 1];
    int filled = (int)(frac * WIDTH);
    for (int i = 0; i < WIDTH; i++)
        bar[i] = i < filled ? '#' : '.';
    bar[WIDTH] = '\0';
    fprintf(p->out, "\r%s [%s] %lld/%lld %.0f/s ETA %s\033[K", p->label, bar,
            (long long)p->done, (long long)p->total, rate, eta);
    fflush(p->out);
    p->last_draw = now;
}

void nerve_progress_update(nerve_progress *p, int64_t done)
{
    p->done = done;
    if (!p->out)
        return;
    double now = nerve_now();
    if (now - p->last_draw >= 0.1 || done == p->total)   /* at most ten frames a second */
        draw(p, now);
}

void nerve_progress_end(nerve_progress *p)
{
    if (!p->out)
        return;
    p->done = p->total;
    draw(p, nerve_now());
    fprintf(p->out, "\n");
    p->out = NULL;
}
