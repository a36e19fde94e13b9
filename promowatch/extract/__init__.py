"""Pure extraction: page or API bytes in, values with the signals behind them out."""
