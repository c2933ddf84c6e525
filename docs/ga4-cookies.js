/*
 * Reads the two Google Analytics 4 cookies a call must carry to join the visit that produced it:
 *   _ga               -> pass as `client_id`  (e.g. GA1.1.1760224793.1424413995)
 *   _ga_<container>   -> pass as `session_id` (GS1.1.<session>.… or GS2.1.s<session>$o…)
 * <container> is the stream's measurement id without "G-". Values are returned unchanged: the
 * bridge turns either cookie format into the ids GA4 wants, so nothing here breaks when Google
 * changes a cookie's inner format again. Put them wherever your call-tracking platform keeps
 * visitor or custom parameters (see the platform's page), under the names it documents.
 *
 * Browser: readGa4Cookies("G-ABC123XYZ") reads document.cookie.
 */
function readGa4Cookies(measurementId, cookieString) {
  var cookies = cookieString === undefined ? document.cookie : cookieString;
  var container = String(measurementId).replace(/^G-/i, "");

  function read(name) {
    var pairs = cookies ? cookies.split(";") : [];
    for (var i = 0; i < pairs.length; i++) {
      var pair = pairs[i].trim();
      var eq = pair.indexOf("=");
      if (eq > 0 && pair.slice(0, eq) === name) {
        try {
          return decodeURIComponent(pair.slice(eq + 1));
        } catch (e) {
          return pair.slice(eq + 1);
        }
      }
    }
    return null;
  }

  return { client_id: read("_ga"), session_id: read("_ga_" + container) };
}

if (typeof module !== "undefined" && module.exports) {
  module.exports = { readGa4Cookies: readGa4Cookies };
}
