"""Running the suite: notebooks executed and published, suite files, parameters, published runs, the command
line.
"""
