"""The second demo retailer: a German shop selling in Germany (EUR, the EU 30-day reference rule).

Built unlike the first shop (other URLs, class names, a weekly listing whose cards state only an end date,
tracking parameters on links, a bare-array store list, a captcha every Nth product page) so that the traps of a
shop nobody tuned for are real. :mod:`.catalogue` says what happens on which day, :mod:`.pages` renders it,
:mod:`.shop` serves it on 127.0.0.1 with the standard library's ThreadingHTTPServer.
"""
