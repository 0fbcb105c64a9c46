"""ferkit.inference"""
