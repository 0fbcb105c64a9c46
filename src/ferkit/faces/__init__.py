"""ferkit.faces"""
