"""Multilingual phrase tables (placeholder: the extraction engine fills this in)."""

CATEGORIES = (
    "out_of_stock",
    "temporarily_unavailable",
    "not_deliverable",
    "store_only",
    "available_soon",
    "limited",
    "preorder",
    "backorder",
    "discontinued",
    "in_stock",
    "delivery",
    "saving",
    "instalment",
    "reference",
)
