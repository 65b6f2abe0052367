"""Pages a person would rather look at than read, each one self-contained HTML file (inline
CSS, JS and thumbnails; no network) rendered from a Jinja2 template in ``templates/``:
``page`` (what they share), ``photos`` (a gallery grouped by person); the video report
(``video.report``) and the review page of ``annotate people`` (``people.review``) use them."""
