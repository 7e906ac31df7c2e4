from .ledger import cost_ledger

__all__ = ["cost_ledger"]
