//! What an apply did.

/// Created/updated/deleted counts for one object type.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Objects created.
    pub created: usize,
    /// Objects changed in place (or adopted).
    pub updated: usize,
    /// Objects deleted.
    pub deleted: usize,
}

/// The outcome of [`crate::Dataplane::apply`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ApplyReport {
    /// Links.
    pub links: Counts,
    /// Addresses.
    pub addresses: Counts,
    /// Routes.
    pub routes: Counts,
    /// Neighbour entries.
    pub neighbours: Counts,
    /// VXLAN FDB entries.
    pub fdb: Counts,
    /// Sysctls written.
    pub sysctls: usize,
    /// Kernel write requests sent (0 when the state already matched).
    pub writes: usize,
}

impl ApplyReport {
    /// True when nothing was written.
    pub fn is_noop(&self) -> bool {
        self.writes == 0
    }

    /// Accounts one executed operation.
    pub(crate) fn record(&mut self, op: &crate::plan::Op) {
        use crate::plan::Op;
        let c = match op {
            Op::CreateLink(_) => &mut self.links.created,
            Op::ModifyLink(_) => &mut self.links.updated,
            Op::DeleteLink { .. } => &mut self.links.deleted,
            Op::AddAddress(_) => &mut self.addresses.created,
            Op::DeleteAddress(_) => &mut self.addresses.deleted,
            Op::AddRoute(_) => &mut self.routes.created,
            Op::ReplaceRoute(_) => &mut self.routes.updated,
            Op::DeleteRoute(_) => &mut self.routes.deleted,
            Op::AddNeigh(_) => &mut self.neighbours.created,
            Op::ReplaceNeigh(_) => &mut self.neighbours.updated,
            Op::DeleteNeigh(_) => &mut self.neighbours.deleted,
            Op::AddFdb(_) => &mut self.fdb.created,
            Op::ReplaceFdb(_) => &mut self.fdb.updated,
            Op::DeleteFdb(_) => &mut self.fdb.deleted,
            Op::SetSysctl { .. } => &mut self.sysctls,
        };
        *c += 1;
        self.writes += 1;
    }
}
