"""ferkit.export"""
