"""phoi_requests"""
