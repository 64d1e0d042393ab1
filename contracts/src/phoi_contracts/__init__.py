"""phoi_contracts"""
