"""Pure extraction: page or API bytes in, values with the signals behind them out."""

from promowatch.extract.offer import extract_offer

__all__ = ["extract_offer"]
