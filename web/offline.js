// The report's stand-in for the server: `nerve report` puts the study's
// files in window.NERVE_FILES ({path: {json} or {b64}}); this answers the
// viewer's requests from them. What needs the server (recomputing a graph,
// the activation maps of inputs not included) says so.
"use strict";
window.NERVE_OFFLINE = (function (files) {
  const entry = (url) => files[url.replace(/^\.?\//, "")];
  const missing = (url) => Promise.reject(new Error(url.split("?")[0] + " is not in this report (nerve serve has it)"));
  return {
    live: false,
    json(url) {
      const f = entry(url);
      return f && f.json !== undefined ? Promise.resolve(f.json) : missing(url);
    },
    buffer(url) {
      const f = entry(url);
      if (!f || f.b64 === undefined) return missing(url);
      const s = atob(f.b64), bytes = new Uint8Array(s.length);
      for (let i = 0; i < s.length; i++) bytes[i] = s.charCodeAt(i);
      return Promise.resolve(bytes.buffer);
    },
    url(rel) {
      const f = files["study/" + rel];
      return f && f.b64 !== undefined ? "data:image/png;base64," + f.b64 : "study/" + rel;
    },
  };
})(window.NERVE_FILES || {});
