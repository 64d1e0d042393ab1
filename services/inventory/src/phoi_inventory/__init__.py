"""phoi_inventory"""
