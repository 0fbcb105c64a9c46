"""ferkit.eval"""
