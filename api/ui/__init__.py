"""The dashboard's static pages (``/ui``): plain HTML, CSS and JavaScript, with the charting and
tree libraries vendored under ``static/vendor`` (see its VENDOR.md), so nothing is fetched from
the internet at run time."""
