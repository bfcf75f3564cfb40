// Tells the portal the browser's time zone, so it shows times in it (UserTimezoneMiddleware).
(function () {
  "use strict";
  try {
    var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (zone && document.cookie.indexOf("portal_tz=" + encodeURIComponent(zone)) === -1) {
      document.cookie = "portal_tz=" + encodeURIComponent(zone) + "; path=/; SameSite=Lax; max-age=31536000";
    }
  } catch (e) { /* no Intl: the server's TIME_ZONE it is */ }
})();
