"""phoi_local"""
