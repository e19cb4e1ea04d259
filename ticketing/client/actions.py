"""Carrying out a command against the cluster; shared by the interactive loop and scripts."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from ticketing.client.admin_actions import AdminActions
from ticketing.client.admin_commands import AdminCommand
from ticketing.client.commands import (
    Book,
    Cancel,
    Command,
    Help,
    Hold,
    HoldBest,
    ListTickets,
    Quit,
    Release,
    ShowMap,
    ShowTicket,
    Status,
    Theaters,
)
from ticketing.client.load_balancer_api import LoadBalancerApi, catalog_of
from ticketing.client.map_view import Screen, map_view, script_screen
from ticketing.client.metadata import Metadata
from ticketing.client.operator_link import NEEDS_SECRET
from ticketing.client.state import ClientState, OpenHold
from ticketing.client.style import Fragments
from ticketing.client.tickets_file import TicketsFile
from ticketing.client.views import (
    best_hold_view,
    help_view,
    hold_view,
    replaced_view,
    status_view,
    theaters_view,
    ticket_view,
    tickets_view,
)
from ticketing.errors import (
    HoldExpired,
    HoldNotFound,
    InvalidRequest,
    SeatsUnavailable,
    TicketingError,
    TicketNotFound,
    Unavailable,
    UnknownTheater,
)


@dataclass(frozen=True, slots=True)
class Outcome:
    fragments: Fragments
    quit: bool = False


class Actions:
    def __init__(
        self,
        api: LoadBalancerApi,
        state: ClientState,
        tickets: TicketsFile,
        metadata: Metadata,
        cluster_status: Callable[[], list[dict]],
        *,
        clock: Callable[[], float] = time.time,
        admin: AdminActions | None = None,
        screen: Callable[[], Screen] = script_screen,
    ) -> None:
        """``admin`` runs the operator's commands; without it they are refused (no secret).
        ``clock`` is wall time: a hold's ``expires_at`` comes from the cluster's clock.
        ``screen`` is the room the seat map has (the interactive loop sets its terminal's)."""
        self.api = api
        self.state = state
        self.tickets = tickets
        self.metadata = metadata
        self.cluster_status = cluster_status
        self.clock = clock
        self.admin = admin
        self.screen = screen

    def run(self, command: Command) -> Outcome:
        if isinstance(command, AdminCommand):
            if self.admin is None:
                raise InvalidRequest(NEEDS_SECRET)
            return Outcome(self.admin.run(command))
        command = self.resolved(command)
        match command:
            case Theaters():
                return Outcome(self._theaters())
            case ShowMap(theater, event, rows):
                return Outcome(self._show_map(theater, event, rows))
            case Hold(theater, event, seats):
                return Outcome(self._hold(theater, event, seats))
            case HoldBest(theater, event, count):
                return Outcome(self._hold_best(theater, event, count))
            case Release():
                return Outcome(self._release())
            case Book(name, email):
                return Outcome(self._book(name, email))
            case ShowTicket(theater, ticket_no):
                return Outcome(self._show_ticket(theater, ticket_no))
            case Cancel(theater, ticket_no):
                return Outcome(self._cancel(theater, ticket_no))
            case ListTickets():
                return Outcome(self._list_tickets())
            case Status():
                return Outcome(status_view(self.cluster_status()))
            case Help(topic):
                return Outcome(help_view(topic))
            case Quit():
                return Outcome(self.leave(), quit=True)
        raise InvalidRequest(f"the client cannot run {command!r}; type help")

    def leave(self) -> Fragments:
        """Give back an open hold on the way out: nobody else could ever book it."""
        hold = self.state.hold
        if hold is None:
            return []
        self.state.hold = None
        if hold.expired(self.clock()):
            return [("class:note", f"your hold on {hold.describe()} had expired\n")]
        self.api.release_hold(hold.hold_id)
        return [("class:note", f"released your hold on {' '.join(hold.seats)}\n")]

    def live_hold(self) -> OpenHold | None:
        """The hold this client owns, or None once it expired: an expired hold is never
        drawn or offered as ours (the cluster may have given its seats to someone else).

        The expired hold stays in the state until the next hold, book, release or quit, so
        those can say what happened to it.
        """
        hold = self.state.hold
        return None if hold is None or hold.expired(self.clock()) else hold

    def resolved(self, command: Command) -> Command:
        """The command with its theater and event ids as the catalog spells them, so that
        ``map amc dune-1900`` works as ``map AMC dune-1900`` (when only one id matches)."""
        theater = getattr(command, "theater", None)
        if theater is None:
            return command
        found = self.metadata.resolve_theater(theater)
        changes = {"theater": found}
        event = getattr(command, "event", None)
        if event is not None:
            changes["event"] = self.metadata.resolve_event(found, event)
        return replace(command, **changes)  # type: ignore[type-var]

    def cancel_question(self, theater: str, ticket_no: str) -> str:
        """What a person confirms before a ticket is cancelled: the ticket as the cluster has
        it, so a wrong number is caught (TicketNotFound) before anything is asked."""
        ticket = self._live_ticket(theater, ticket_no)
        seats = " ".join(ticket["seats"])
        return (
            f"cancel ticket {ticket_no} ({ticket['theater']} {ticket['event']} {seats}, "
            f"{ticket['name']}) for good? [y/N] "
        )

    def _theaters(self) -> Fragments:
        """Fresh from the balancer, events not on sale marked; completion then offers it."""
        catalog = catalog_of(self.api)
        self.metadata.catalog_seen(catalog)
        return theaters_view(catalog)

    def _choose(self, theater: str, event: str) -> None:
        self.state.theater, self.state.event = theater, event

    def _show_map(
        self, theater: str, event: str, rows: str | None = None, *, near_mine: bool = False
    ) -> Fragments:
        seat_states = self.api.get_seat_states(theater, event)
        self._choose(theater, event)
        hold = self.live_hold()
        mine = hold.seats if hold and (hold.theater, hold.event) == (theater, event) else ()
        return map_view(
            seat_states,
            title=f"{theater} {event}",
            command=f"map {theater} {event}",
            screen=self.screen(),
            rows=rows,
            mine=mine,
            near_mine=near_mine,
        )

    def _hold(self, theater: str, event: str, seats: tuple[str, ...]) -> Fragments:
        """Hold new seats, then give back the previous hold, so a failure keeps the old one.

        Asking again for seats this client already holds would collide with its own hold, so
        in that one case the old hold goes first.
        """
        self._choose(theater, event)
        previous = self.live_hold()
        released = False
        try:
            answer = self.api.block_seats(theater, event, list(seats))
        except SeatsUnavailable as exc:
            if previous is None or not self._only_mine(exc, theater, event):
                raise
            self._release()
            released = True
            answer = self.api.block_seats(theater, event, list(seats))
        hold = self._keep(answer, theater, event)
        view = hold_view(hold, hold.seconds_left(self.clock()))
        return view + self._give_back(previous, hold, released=released)

    def _hold_best(self, theater: str, event: str, count: int) -> Fragments:
        """Hold the `count` best free seats, then give back the previous hold; show the map.

        As with explicit seats, a refusal keeps the previous hold, so the seats it holds are not
        among those chosen: a buyer in a rush keeps what they have until better is theirs.
        """
        self._choose(theater, event)
        previous = self.live_hold()
        answer = self.api.block_best_available(theater, event, count)
        hold = self._keep(answer, theater, event)
        view = best_hold_view(hold, hold.seconds_left(self.clock()), count)
        view += self._give_back(previous, hold)
        try:
            return view + self._show_map(theater, event, near_mine=True)
        except TicketingError as exc:  # the seats are held; only the picture is missing
            return [*view, ("class:note", f"(no map right now: {exc}; type map to retry)\n")]

    def _keep(self, answer: dict, theater: str, event: str) -> OpenHold:
        """Remember a granted hold first, so no later failure can lose it."""
        self.state.hold = OpenHold(
            answer["hold_id"], theater, event, tuple(answer["seats"]), float(answer["expires_at"])
        )
        self.metadata.seats_changed(theater, event)
        return self.state.hold

    def _give_back(
        self, previous: OpenHold | None, hold: OpenHold, *, released: bool = False
    ) -> Fragments:
        """Release the hold a new one replaced and say so; if that fails now, it expires on its
        own. An earlier hold that had expired was announced then: it is not said again."""
        if previous is None:
            return []
        self.metadata.seats_changed(previous.theater, previous.event)
        expired = previous.expires_at <= self.clock()
        if not released:
            try:
                self.api.release_hold(previous.hold_id)
            except TicketingError as exc:
                fate = f"not given back now: {exc}; it expires"
                return [] if expired else replaced_view(hold, previous, fate)
        return [] if expired else replaced_view(hold, previous, "released")

    def _only_mine(self, exc: SeatsUnavailable, theater: str, event: str) -> bool:
        hold = self.state.hold
        taken = set(getattr(exc, "seats", ()) or ())
        return (
            hold is not None
            and (hold.theater, hold.event) == (theater, event)
            and bool(taken)
            and taken <= set(hold.seats)
        )

    def _release(self) -> Fragments:
        hold = self.state.hold
        if hold is None:
            raise InvalidRequest("you hold no seats; hold some with: hold THEATER EVENT SEATS")
        self.state.hold = None
        if hold.expired(self.clock()):
            self.metadata.seats_changed(hold.theater, hold.event)
            return [("", f"{self._expired(hold)}; nothing to give back\n")]
        self.api.release_hold(hold.hold_id)
        self.metadata.seats_changed(hold.theater, hold.event)
        return [("", f"released {' '.join(hold.seats)} at {hold.theater} {hold.event}\n")]

    def _book(self, name: str, email: str) -> Fragments:
        hold = self.state.hold
        if hold is None:
            raise InvalidRequest("you hold no seats; first: hold THEATER EVENT SEATS")
        if hold.expired(self.clock()):
            self.state.hold = None
            self.metadata.seats_changed(hold.theater, hold.event)
            raise HoldExpired(f"{self._expired(hold)}; hold them again: {hold.again()}")
        try:
            ticket = self.api.book_ticket(hold.hold_id, name, email)
        except (HoldExpired, HoldNotFound) as exc:
            # The cluster's message names the hold id and its own API; a person needs
            # the seats and what to type.
            self.state.hold = None
            self.metadata.seats_changed(hold.theater, hold.event)
            raise type(exc)(
                f"your hold on {hold.describe()} is gone (it expired or was replaced); "
                f"hold them again: {hold.again()}"
            ) from None
        self.state.hold = None
        self.metadata.seats_changed(hold.theater, hold.event)
        self.tickets.add(dict(ticket))
        return ticket_view(ticket, heading="booked ticket")

    def _show_ticket(self, theater: str | None, ticket_no: str | None) -> Fragments:
        if theater is None or ticket_no is None:
            latest = self.tickets.latest()
            if latest is None:
                raise InvalidRequest(
                    "no ticket booked from this computer yet; use: ticket THEATER TICKET_NO"
                )
            theater, ticket_no = latest["theater"], latest["ticket_no"]
        return ticket_view(self._live_ticket(theater, ticket_no))

    def _expired(self, hold: OpenHold) -> str:
        when = datetime.fromtimestamp(hold.expires_at).strftime("%H:%M:%S")
        return f"your hold on {hold.describe()} expired at {when}"

    def _live_ticket(self, theater: str, ticket_no: str) -> dict:
        """The ticket as the cluster has it; one it no longer has leaves the local list."""
        try:
            return dict(self.api.get_ticket_details(theater, ticket_no))
        except TicketNotFound:
            self.tickets.remove(theater, ticket_no)
            raise

    def _cancel(self, theater: str, ticket_no: str) -> Fragments:
        """Cancel a ticket the cluster still has.

        The cluster answers a second cancel of the same ticket as a retry of the first (True),
        so the ticket is looked up first: a ticket already cancelled is refused here
        (TicketNotFound) rather than reported as freeing seats that may be someone else's now.
        """
        ticket = self._live_ticket(theater, ticket_no)
        self.api.delete_ticket(theater, ticket_no)
        self.tickets.remove(theater, ticket_no)
        self.metadata.seats_changed(theater, ticket["event"])
        seats = " ".join(ticket["seats"])
        return [("", f"cancelled ticket {ticket_no} at {theater} {ticket['event']} ({seats})\n")]

    def _list_tickets(self) -> Fragments:
        """The local list as the cluster still has it: a ticket cancelled elsewhere (or whose
        event was cancelled) is dropped from the list, with the cluster's reason; one for a
        theater this cluster does not have (booked on another cluster by an older client)
        is not shown. When the cluster is unavailable, the list is shown unchecked."""
        live: list[dict] = []
        out: Fragments = []
        foreign = self.tickets.others()
        unchecked: Unavailable | None = None
        for ticket in self.tickets.load():
            if unchecked is not None:
                live.append(ticket)
                continue
            try:
                found = self.api.get_ticket_details(ticket["theater"], ticket["ticket_no"])
                live.append({**ticket, **found})
            except TicketNotFound as exc:
                self.tickets.remove(ticket["theater"], ticket["ticket_no"])
                out.append(("class:note", f"dropped from your list: {exc}\n"))
            except UnknownTheater:
                foreign += 1
            except Unavailable as exc:
                unchecked = exc
                live.append(ticket)
        out = tickets_view(live) + out
        if foreign:
            out.append(("class:note", f"({foreign} ticket(s) of other clusters not shown)\n"))
        if unchecked is not None:
            out.append(("class:note", f"(not checked with the cluster: {unchecked})\n"))
        return out


def offered_instead(command: Command | None, refusal: SeatsUnavailable) -> Hold | None:
    """The hold of the free seats a refusal of explicit seats offers, if it offers any.

    The cluster picks them as a best-available hold would at that moment; the person decides,
    since seats elsewhere in the hall may not be what they wanted.
    """
    if not isinstance(command, Hold) or not refusal.alternative:
        return None
    return Hold(command.theater, command.event, tuple(refusal.alternative))
