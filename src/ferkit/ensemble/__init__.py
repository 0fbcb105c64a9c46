"""ferkit.ensemble"""
