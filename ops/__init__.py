"""Operations: the local broker script, the demo, the crash test, and their Python helpers."""
