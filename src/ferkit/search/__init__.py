"""ferkit.search"""
