"""Factors: which factor of variation each code unit carries, measured (MIG, DCI, SAP, FactorVAE)."""

from dashboard.views import factors

factors.render()
