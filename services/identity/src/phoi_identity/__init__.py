"""phoi_identity"""
