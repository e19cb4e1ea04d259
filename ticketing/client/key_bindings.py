"""The client's key bindings, in one place (prompt_toolkit's Emacs defaults stay underneath:
Ctrl-R searches history, Ctrl-C cancels the line, Ctrl-D on an empty line quits; in a guided
question the REPL turns it into a cancel)."""

from __future__ import annotations

from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent


def client_key_bindings() -> KeyBindings:
    bindings = KeyBindings()

    @bindings.add("c-space")
    def _open_completions(event: KeyPressEvent) -> None:
        """Show the choices without typing anything, as pgcli does."""
        buffer = event.app.current_buffer
        if buffer.complete_state:
            buffer.complete_next()
        else:
            buffer.start_completion(select_first=False)

    return bindings
