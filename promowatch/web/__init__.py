"""The web dashboard and JSON API (``promowatch serve``): an edge over the core, which never imports it."""
