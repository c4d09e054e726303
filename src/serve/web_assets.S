/*
 * web_assets.S — the viewer's files, compiled into nerve (assets.c names
 * them). The Makefile passes web/ and the folder holding d3.min.js as
 * assembler include paths.
 */
#define ASSET(sym, file)        \
    .global sym;                \
    .global sym##_end;          \
    .balign 16;                 \
sym:                            \
    .incbin file;               \
sym##_end:                      \
    .byte 0

    .section .rodata
ASSET(nerve_web_index_html, "index.html")
ASSET(nerve_web_app_js, "app.js")
ASSET(nerve_web_style_css, "style.css")
ASSET(nerve_web_d3_min_js, "d3.min.js")
ASSET(nerve_web_offline_js, "offline.js")
ASSET(nerve_web_findings_js, "findings.js")
ASSET(nerve_web_featvis_js, "featvis.js")
ASSET(nerve_web_graphcanvas_js, "graphcanvas.js")
ASSET(nerve_web_scatter_js, "scatter.js")
ASSET(nerve_web_embed_js, "embed.js")
ASSET(nerve_web_select_js, "select.js")
ASSET(nerve_web_urlstate_js, "urlstate.js")

    .section .note.GNU-stack, "", @progbits
