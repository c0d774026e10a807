"""Everything about training data and models.

``formats`` (dataset formats: parse, validate, normalise), ``visualize`` (labels drawn on images) and
``demo_data`` (procedurally generated demo datasets) need only Pillow and numpy; the PaddlePaddle
trainers import ``paddle`` themselves, inside the jobs that run them.
"""
