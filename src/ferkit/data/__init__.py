"""ferkit.data"""
