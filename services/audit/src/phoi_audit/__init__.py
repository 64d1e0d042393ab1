"""phoi_audit"""
