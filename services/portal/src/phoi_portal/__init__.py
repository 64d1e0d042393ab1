"""phoi_portal"""
