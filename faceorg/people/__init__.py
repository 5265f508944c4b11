"""People: operations on people and faces (undoable, returning change records), queries, and clustering."""
