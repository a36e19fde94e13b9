"""promowatch: catches retail promotions that are advertised but cannot actually be bought."""

__version__ = "0.1.0"
