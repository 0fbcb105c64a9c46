"""ferkit.train"""
