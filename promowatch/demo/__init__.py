"""The demo shop: a local French-speaking Swiss retailer with scenarios and a simulated clock.

:class:`promowatch.demo.shop.DemoShop` serves it on 127.0.0.1; :data:`promowatch.demo.scenarios.SCENARIOS`
says what each scenario product is meant to show; :func:`promowatch.demo.watchlist.demo_watchlist` writes a
watchlist that follows it.
"""
