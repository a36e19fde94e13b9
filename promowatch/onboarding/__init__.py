"""Onboarding a new retailer: drafting a site profile and previewing what it reads."""
