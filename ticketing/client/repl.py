"""The interactive loop: a PromptSession for commands, and guided prompts for what is missing."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from prompt_toolkit import PromptSession, print_formatted_text
from prompt_toolkit.completion import DummyCompleter
from prompt_toolkit.formatted_text import FormattedText
from prompt_toolkit.history import FileHistory, InMemoryHistory
from prompt_toolkit.input import Input
from prompt_toolkit.output import ColorDepth, Output

from ticketing.client.actions import Actions, Outcome, offered_instead
from ticketing.client.admin_commands import CancelEvent
from ticketing.client.announcer import ExpiryAnnouncer
from ticketing.client.commands import Cancel, Command, Param, PartialCommand, parse
from ticketing.client.completer import Context, ParamCompleter, TicketingCompleter
from ticketing.client.key_bindings import client_key_bindings
from ticketing.client.map_view import Screen
from ticketing.client.metadata import Metadata
from ticketing.client.pager import Pager, terminal_pager, too_long
from ticketing.client.style import STYLE, Fragments, plain
from ticketing.client.toolbar import bottom_toolbar
from ticketing.client.views import error_line
from ticketing.errors import (
    SeatsUnavailable,
    TicketingError,
    Unavailable,
    UnknownEvent,
    UnknownTheater,
)

PROMPT = "ticketing> "


class Repl:
    def __init__(
        self,
        actions: Actions,
        metadata: Metadata,
        balancer: Callable[[], str | None],
        *,
        history_path: Path | None = None,
        input: Input | None = None,
        output: Output | None = None,
        show: Callable[[Fragments], None] | None = None,
        now: Callable[[], float] = time.time,
        pager: Pager | None = None,
        colours: bool = True,
    ) -> None:
        """``pager`` shows output taller than the terminal; by default the terminal's pager
        (``$PAGER``, else less) when ``output`` is the terminal, none otherwise. ``colours``
        False draws in the terminal's own colour only (the config file's ``colours =
        false``): marks and words carry the meaning anyway. ``now`` is wall time, as the
        holds' ``expires_at`` it counts down to."""
        self.actions = actions
        self.metadata = metadata
        self._output = output
        self._colour_depth = None if colours else ColorDepth.MONOCHROME
        self.show = show or self._print
        self.pager = pager if pager is not None or output is not None else terminal_pager
        if history_path is not None:
            history_path.parent.mkdir(parents=True, exist_ok=True)
        common = {
            "input": input,
            "output": output,
            "style": STYLE,
            "key_bindings": client_key_bindings(),
            "bottom_toolbar": bottom_toolbar(balancer, actions.state, now),
            "refresh_interval": 1.0,
            "complete_while_typing": True,
            "color_depth": self._colour_depth,
        }
        self.session: PromptSession[str] = PromptSession(
            history=FileHistory(str(history_path)) if history_path else InMemoryHistory(),
            completer=TicketingCompleter(metadata),
            **common,
        )
        # Answers to guided prompts stay out of the command history; the whole command goes in.
        self.guide: PromptSession[str] = PromptSession(history=InMemoryHistory(), **common)
        actions.screen = self._screen
        self.announcer = ExpiryAnnouncer(actions.state, now, self.show)
        for session in (self.session, self.guide):
            self.announcer.attach(session.app)

    def run(self) -> int:
        """Read and run commands until `quit` or Ctrl-D; an open hold is released on the way out.

        Ctrl-D quits only at the command prompt: in a guided question or a confirmation it
        cancels that command, as Ctrl-C does (a stray Ctrl-D must not end a booking, nor,
        under ``dev.py start``, the whole cluster).
        """
        self.show([("class:note", "Type help for the commands; Tab completes.\n")])
        while True:
            try:
                line = self.session.prompt(PROMPT)
            except KeyboardInterrupt:
                continue
            except EOFError:
                self._run_safely(self.actions.leave)
                return 0
            try:
                partial = parse(line, self.actions.state.identity)
                if partial is None:
                    continue
                if partial.missing:
                    self._ask_missing(partial)
                    self.session.history.append_string(partial.as_line())
                outcome = self._execute(partial.build())
            except KeyboardInterrupt:
                self.show([("class:note", "cancelled\n")])
                continue
            except Unavailable as exc:
                self._error(exc)
                # Retrying is safe, and the command is the latest in the history: one key
                # brings it back. It is not put on the line, where the next command typed
                # would be appended to it.
                self.show([("class:note", "  press Up to run it again\n")])
                continue
            except TicketingError as exc:
                self._error(exc)
                continue
            except Exception as exc:  # never show a traceback to the user
                self._error(TicketingError(f"unexpected {type(exc).__name__}: {exc}; retry"))
                continue
            self._present(outcome.fragments)
            if outcome.quit:
                return 0

    def _execute(self, command: Command) -> Outcome:
        """Run a command; when explicit seats are refused with free ones offered instead, ask
        whether to hold those (again, should they be gone by then too).

        Cancelling an event cancels every ticket of it, so it is asked again, no by default.
        """
        if isinstance(command, CancelEvent) and not self._confirm(command.question(), False):
            return Outcome([("class:note", "not cancelled\n")])
        if isinstance(command, Cancel):
            command = self.actions.resolved(command)
            question = self.actions.cancel_question(command.theater, command.ticket_no)
            if not self._confirm(question, False):
                return Outcome([("class:note", "not cancelled\n")])
        while True:
            try:
                return self.actions.run(command)
            except SeatsUnavailable as exc:
                offer = offered_instead(command, exc)
                if offer is None:
                    raise
                self._error(exc)
                if not self._confirm(f"hold {' '.join(offer.seats)} instead? [Y/n] "):
                    return Outcome([("class:note", "not held\n")])
                command = offer
                self.session.history.append_string(offer.as_line())

    def _confirm(self, question: str, default: bool = True) -> bool:
        """A yes-or-no question, ``default`` on Enter; Ctrl-C cancels as it does any prompt."""
        while True:
            answer = self._ask(question, completer=DummyCompleter()).strip().lower()
            if answer == "":
                return default
            if answer in ("y", "yes"):
                return True
            if answer in ("n", "no"):
                return False
            self.show([("class:note", "  answer y or n; Ctrl-C cancels\n")])

    def _ask_missing(self, partial: PartialCommand) -> None:
        """Ask for each missing argument with its own completion (theater, event, seats, ...)."""
        needed = ", ".join(str(param) for param in partial.missing)
        hint = f"{partial.spec.name}: {needed}? Tab shows choices, Ctrl-C cancels\n"
        self.show([("class:note", hint)])
        for param in partial.missing:
            completer = ParamCompleter(self.metadata, param, lambda: self._context(partial))
            while True:
                answer = self._ask(
                    f"  {param}: ",
                    completer=completer,
                    default=self._default(param, partial),
                    pre_run=self._open_menu,
                )
                if not answer.strip():
                    self.show([("class:note", f"  a {param} is needed; Ctrl-C cancels\n")])
                    continue
                try:
                    partial.supply(param, answer)
                    self._check_known(param, partial)
                except TicketingError as exc:
                    partial.values.pop(param, None)
                    self._error(exc)
                    continue
                break

    def _ask(self, question: str, **options: Any) -> str:
        """A guided prompt; Ctrl-D there cancels the command as Ctrl-C does."""
        try:
            return self.guide.prompt(question, **options)
        except EOFError:
            raise KeyboardInterrupt from None

    def _check_known(self, param: Param, partial: PartialCommand) -> None:
        """Catch a mistyped theater or event at its own prompt rather than after the last one;
        an id typed in another case becomes the catalog's (``amc`` is ``AMC``)."""
        try:
            theaters = self.metadata.theaters()
        except TicketingError:
            return  # the cluster will judge when the command runs
        if param is Param.THEATER:
            typed = str(partial.values[Param.THEATER])
            partial.values[param] = self.metadata.resolve_theater(typed)
        theater = str(partial.values.get(Param.THEATER, ""))
        if param is Param.EVENT:
            typed = str(partial.values[Param.EVENT])
            partial.values[param] = self.metadata.resolve_event(theater, typed)
        if param is Param.THEATER and self.metadata.theater(theater) is None:
            known = ", ".join(t["theater"] for t in theaters)
            raise UnknownTheater(f"no theater {theater!r}; pick one of {known}")
        if param is Param.EVENT:
            events = [e["event"] for e in self.metadata.events(theater)]
            if partial.values[Param.EVENT] not in events:
                raise UnknownEvent(
                    f"no event {partial.values[Param.EVENT]!r} at {theater}; "
                    f"pick one of {', '.join(events)}"
                )

    def _context(self, partial: PartialCommand) -> Context:
        return {p: v for p, v in partial.values.items() if isinstance(v, str)}

    def _default(self, param: Param, partial: PartialCommand) -> str:
        state = self.actions.state
        if param is Param.THEATER:
            return state.theater or ""
        if param is Param.EVENT and partial.values.get(Param.THEATER) == state.theater:
            return state.event or ""
        if param in (Param.NAME, Param.EMAIL):
            if state.identity.get(param):
                return state.identity[param]
            latest = self.actions.tickets.latest()
            key = "name" if param is Param.NAME else "email"
            return str(latest.get(key, "")) if latest else ""
        return ""

    def _open_menu(self) -> None:
        buffer = self.guide.default_buffer
        if not buffer.text:
            buffer.start_completion(select_first=False)

    def _screen(self) -> Screen:
        """The terminal's room for output: all of it but the prompt line and the toolbar."""
        size = self.session.output.get_size()
        return Screen(size.columns, max(1, size.rows - 2))

    def _present(self, fragments: Fragments) -> None:
        """Show a command's output; through the pager if it is taller than the terminal."""
        lines = self._screen().lines
        if self.pager is not None and lines is not None and too_long(fragments, lines):
            self.pager(plain(fragments))
            return
        self.show(fragments)

    def _run_safely(self, step: Callable[[], Fragments]) -> None:
        try:
            self.show(step())
        except TicketingError as exc:
            self._error(exc)

    def _error(self, exc: TicketingError) -> None:
        self.show([("class:error", error_line(exc) + "\n")])

    def _print(self, fragments: Fragments) -> None:
        print_formatted_text(
            FormattedText(fragments),
            style=STYLE,
            output=self._output,
            color_depth=self._colour_depth,
            end="",
        )
