//! Interrupting a running thread: making it enter lintel at its next safe point.
//!
//! Signals need this: a signal aimed at a thread that is running user code must make that
//! thread run lintel's delivery code, with its register file in hand so lintel can build a
//! Linux signal frame and later restore (or rewrite) the context.
//!
//! A thread can be interrupted while it is already inside lintel, possibly holding a futex
//! bucket lock. It must not re-enter lintel then. So the calling thread marks the span it spends
//! inside lintel with [`Interrupt::enter`] / [`Interrupt::leave`]; a kick that lands inside the
//! span is only *posted* (a lock-free per-thread inbox), and `leave` reports it so the caller
//! runs its delivery point on the way out.

use crate::Threads;

/// Registers of an interrupted thread, as the port hands them to lintel.
pub trait Registers {
    /// The program counter.
    fn pc(&self) -> usize;
    /// Sets the program counter the thread resumes at.
    fn set_pc(&mut self, pc: usize);
    /// The stack pointer.
    fn sp(&self) -> usize;
    /// Sets the stack pointer the thread resumes with.
    fn set_sp(&mut self, sp: usize);
    /// The whole machine context (x86_64: every general register, flags, segment selectors,
    /// fault information and the FP-state pointer, in Linux's `sigcontext` layout), if the
    /// port has it. Writes are honoured when the thread resumes; a zero `fpstate` resumes with
    /// a fresh FP state. Signal delivery needs it; a port that returns `None` gets no
    /// asynchronous delivery to running threads.
    fn machine(&mut self) -> Option<&mut crate::abi::Sigcontext>;
}

/// The function a port calls on an interrupted thread, outside any lintel span.
pub type InterruptHook = fn(regs: &mut dyn Registers);

/// Interrupting running threads.
///
/// `kick` and [`crate::Notify::interrupt`] do different jobs, and lintel calls whichever it
/// needs: `interrupt` ends a *blocking* wait (a notification wait, a shared-futex wait, a
/// passed-through call) by setting the thread's interrupted flag; `kick` reaches a thread that is
/// *running* user code. A kick aimed at a thread blocked inside lintel is posted (the thread is
/// inside a span) and does not end its wait.
///
/// # Safety
/// Implementors guarantee that after [`kick`](Interrupt::kick) the target thread, at its next
/// safe point, either runs the installed hook with its own register file (if it is outside a
/// lintel span) or has the kick posted so that its next [`leave`](Interrupt::leave) returns
/// `true`; kicks are never lost, and the hook never runs on a thread inside a lintel span.
pub unsafe trait Interrupt: Threads {
    /// Installs the hook run on kicked threads (replacing any earlier one).
    fn set_interrupt_hook(&self, hook: InterruptHook);

    /// Makes `thread` enter lintel at its next safe point.
    fn kick(&self, thread: Self::Thread);

    /// Marks the calling thread as inside lintel. Spans do not nest.
    fn enter(&self);

    /// Ends the span; returns whether a kick was posted during it (and clears the post).
    fn leave(&self) -> bool;
}
