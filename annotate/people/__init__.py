"""The faces nobody named, grouped into people: the job that gathers faces from photos and
videos (``sources``, cached by ``cache``) and groups them (``find``, with
``recognition.cluster``), the files it writes (``output``, ``review``), and naming a person
(``naming``)."""
