"""phoi_kit"""
