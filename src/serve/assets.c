/*
 * assets.c — the viewer's files as the binary holds them (web_assets.S), by
 * name, so that `nerve serve` works from any folder and with no network.
 */
#include <pthread.h>
#include <string.h>

#include "serve_internal.h"

#define EXTERN_ASSET(sym) extern const unsigned char sym[], sym##_end[]
EXTERN_ASSET(nerve_web_index_html);
EXTERN_ASSET(nerve_web_app_js);
EXTERN_ASSET(nerve_web_style_css);
EXTERN_ASSET(nerve_web_d3_min_js);
EXTERN_ASSET(nerve_web_offline_js);
EXTERN_ASSET(nerve_web_findings_js);
EXTERN_ASSET(nerve_web_featvis_js);
EXTERN_ASSET(nerve_web_scatter_js);
EXTERN_ASSET(nerve_web_embed_js);
EXTERN_ASSET(nerve_web_select_js);
EXTERN_ASSET(nerve_web_urlstate_js);
EXTERN_ASSET(nerve_web_graphcanvas_js);

static serve_asset table[12];
static pthread_once_t filled = PTHREAD_ONCE_INIT;

static void fill(void)
{
#define ENTRY(i, name, sym) table[i] = (serve_asset){ name, sym, (size_t)(sym##_end - sym) }
    ENTRY(0, "index.html", nerve_web_index_html);
    ENTRY(1, "app.js", nerve_web_app_js);
    ENTRY(2, "style.css", nerve_web_style_css);
    ENTRY(3, "d3.min.js", nerve_web_d3_min_js);
    ENTRY(4, "offline.js", nerve_web_offline_js);   /* the report's stand-in for the server */
    ENTRY(5, "findings.js", nerve_web_findings_js);
    ENTRY(6, "featvis.js", nerve_web_featvis_js);
    ENTRY(7, "scatter.js", nerve_web_scatter_js);   /* the embedding view: WebGL, web/embed.js, web/select.js */
    ENTRY(8, "embed.js", nerve_web_embed_js);
    ENTRY(9, "select.js", nerve_web_select_js);
    ENTRY(10, "urlstate.js", nerve_web_urlstate_js);
    ENTRY(11, "graphcanvas.js", nerve_web_graphcanvas_js);   /* Mapper graphs of many nodes */
#undef ENTRY
}

const serve_asset *serve_assets(int *count)
{
    pthread_once(&filled, fill);   /* sizes are differences of addresses: not constant expressions */
    *count = (int)(sizeof table / sizeof *table);
    return table;
}

const serve_asset *serve_asset_find(const char *name)
{
    int n;
    const serve_asset *a = serve_assets(&n);
    for (int i = 0; i < n; i++)
        if (strcmp(a[i].name, name) == 0)
            return &a[i];
    return NULL;
}
