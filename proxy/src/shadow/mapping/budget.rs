//! The mapping's byte budget: numbering of pairs and of the entries kept beside them, what
//! each costs, and forgetting the oldest (short-lived first) when over budget. See the
//! parent module's docs for what is kept and why it is bounded.

use super::{Mapping, Side, SrpState, PAIR_OVERHEAD, SHORT_LIVED};

/// An entry of the maps a [`Mapping`] keeps beside its pairs, by its key there.
pub(super) enum Beside {
    /// `refresh_users`.
    RefreshUser(String),
    /// `invented`.
    Invented(String),
    /// `passwords`: (shadow pool, user).
    Password(String, String),
    /// `pool_names`: the primary pool.
    PoolName(String),
    /// A client's secret and pool (`secrets_*`, `client_pool_*` of the side).
    Client(Side, String),
    /// `srp`: an SRP sign-in the client began, by its `SECRET_BLOCK`.
    Srp(String),
}

/// What an unfinished SRP sign-in costs besides its key: the client's big numbers and the
/// challenge's parameters.
const SRP_COST: usize = 2048;

impl Beside {
    /// Refresh tokens' users and invented values serve requests of the next hours; passwords
    /// serve sign-ins for as long as the user exists.
    pub(super) fn short_lived(&self) -> bool {
        // No wildcard: a new kind of entry must choose.
        match self {
            // A client answers an SRP challenge within seconds, or never.
            Beside::RefreshUser(_) | Beside::Invented(_) | Beside::Srp(_) => true,
            Beside::Password(..) | Beside::PoolName(_) | Beside::Client(..) => false,
        }
    }
}

impl Mapping {
    /// The next number for a pair or an entry kept beside the pairs.
    pub(super) fn number(&mut self) -> usize {
        let i = self.next;
        self.next += 1;
        i
    }

    /// Forgets the oldest pairs and entries until a quarter of the budget is free again (so
    /// shrinking is rare and its cost spread over many learned values): short-lived first.
    pub(super) fn shrink(&mut self) {
        let goal = self.budget / 4 * 3;
        let mut short_lived: Vec<usize> = self
            .pairs
            .iter()
            .filter(|(_, p)| SHORT_LIVED.contains(&p.kind))
            .map(|(&i, _)| i)
            .chain(
                self.beside
                    .iter()
                    .filter(|(_, e)| e.short_lived())
                    .map(|(&i, _)| i),
            )
            .collect();
        short_lived.sort_unstable();
        for i in short_lived {
            if self.bytes <= goal {
                return;
            }
            self.forget_any(i);
        }
        while self.bytes > goal {
            let oldest = match (self.pairs.keys().next(), self.beside.keys().next()) {
                (Some(&p), Some(&b)) => p.min(b),
                (Some(&i), None) | (None, Some(&i)) => i,
                (None, None) => return,
            };
            self.forget_any(oldest);
        }
    }

    /// Forgets pair or entry `i`, whichever it is.
    pub(super) fn forget_any(&mut self, i: usize) {
        if self.pairs.contains_key(&i) {
            self.forget(i);
        } else {
            self.forget_beside(i);
        }
    }

    /// Counts an entry just put in one of the maps beside the pairs (the entry it replaced,
    /// if any, was forgotten first).
    pub(super) fn remember_beside(&mut self, i: usize, entry: Beside, cost: usize) {
        self.beside.insert(i, entry);
        self.bytes += cost;
        if self.bytes > self.budget {
            self.shrink();
        }
    }

    pub(super) fn remember_refresh_user(&mut self, token: &str, user: &str) {
        let i = self.number();
        let replaced = self.refresh_users.get(token).map(|&(_, j)| j);
        if let Some(j) = replaced {
            self.forget_beside(j);
        }
        self.refresh_users
            .insert(token.to_string(), (user.to_string(), i));
        let cost = token.len() + user.len() + PAIR_OVERHEAD;
        self.remember_beside(i, Beside::RefreshUser(token.to_string()), cost);
    }

    pub(super) fn remember_invented(&mut self, value: &str) {
        if self.invented.contains_key(value) {
            return;
        }
        let i = self.number();
        self.invented.insert(value.to_string(), i);
        let cost = value.len() + PAIR_OVERHEAD / 2;
        self.remember_beside(i, Beside::Invented(value.to_string()), cost);
    }

    pub(super) fn remember_password(&mut self, pool: String, user: String, password: String) {
        let i = self.number();
        let key = (pool, user);
        if let Some(j) = self.passwords.get(&key).map(|&(_, j)| j) {
            self.forget_beside(j);
        }
        let cost = key.0.len() + key.1.len() + password.len() + PAIR_OVERHEAD;
        let entry = Beside::Password(key.0.clone(), key.1.clone());
        self.passwords.insert(key, (password, i));
        self.remember_beside(i, entry, cost);
    }

    pub(super) fn remember_pool_name(&mut self, pool: &str, name: &str) {
        if let Some(j) = self.pool_names.get(pool).map(|&(_, j)| j) {
            self.forget_beside(j);
        }
        let i = self.number();
        self.pool_names
            .insert(pool.to_string(), (name.to_string(), i));
        let cost = pool.len() + name.len() + PAIR_OVERHEAD;
        self.remember_beside(i, Beside::PoolName(pool.to_string()), cost);
    }

    /// A client's secret and pool, as one entry: what an answer says replaces what an
    /// earlier one said.
    pub(super) fn remember_client(
        &mut self,
        side: Side,
        client: &str,
        secret: Option<&str>,
        pool: Option<&str>,
    ) {
        let key = (side, client.to_string());
        let (old_secret, old_pool) = match side {
            Side::Primary => (&self.secrets_primary, &self.client_pool_primary),
            Side::Shadow => (&self.secrets_shadow, &self.client_pool_shadow),
        };
        // A later answer may name only the pool (ListUserPoolClients has no secret).
        let secret = secret
            .map(str::to_string)
            .or_else(|| old_secret.get(client).cloned());
        let pool = pool
            .map(str::to_string)
            .or_else(|| old_pool.get(client).cloned());
        if let Some(j) = self.client_numbers.get(&key).copied() {
            self.forget_beside(j);
        }
        let i = self.number();
        let (secrets, pools) = match side {
            Side::Primary => (&mut self.secrets_primary, &mut self.client_pool_primary),
            Side::Shadow => (&mut self.secrets_shadow, &mut self.client_pool_shadow),
        };
        let mut cost = client.len() + PAIR_OVERHEAD;
        if let Some(s) = secret {
            cost += s.len();
            secrets.insert(client.to_string(), s);
        }
        if let Some(p) = pool {
            cost += p.len();
            pools.insert(client.to_string(), p);
        }
        self.client_numbers.insert(key, i);
        self.remember_beside(i, Beside::Client(side, client.to_string()), cost);
    }

    pub(super) fn remember_srp(&mut self, block: String, mut state: SrpState) {
        if let Some(j) = self.srp.get(&block).map(|s| s.number) {
            self.forget_beside(j);
        }
        let i = self.number();
        state.number = i;
        let cost = block.len() + SRP_COST;
        self.srp.insert(block.clone(), state);
        self.remember_beside(i, Beside::Srp(block), cost);
    }

    pub(super) fn take_srp(&mut self, block: &str, number: usize) -> Option<SrpState> {
        self.beside.remove(&number);
        let state = self.srp.remove(block)?;
        self.bytes = self.bytes.saturating_sub(block.len() + SRP_COST);
        Some(state)
    }

    /// Forgets one entry kept beside the pairs, giving its cost back.
    pub(super) fn forget_beside(&mut self, i: usize) {
        let Some(entry) = self.beside.remove(&i) else {
            return;
        };
        // The maps hold an entry only while `beside` does (a replaced entry is forgotten
        // first), so each removal below finds what it removes.
        let cost = match entry {
            Beside::RefreshUser(token) => self
                .refresh_users
                .remove(&token)
                .map(|(user, _)| token.len() + user.len() + PAIR_OVERHEAD),
            Beside::Invented(value) => self
                .invented
                .remove(&value)
                .map(|_| value.len() + PAIR_OVERHEAD / 2),
            Beside::Password(pool, user) => {
                let cost = pool.len() + user.len() + PAIR_OVERHEAD;
                self.passwords
                    .remove(&(pool, user))
                    .map(|(password, _)| cost + password.len())
            }
            Beside::PoolName(pool) => self
                .pool_names
                .remove(&pool)
                .map(|(name, _)| pool.len() + name.len() + PAIR_OVERHEAD),
            Beside::Client(side, client) => {
                self.client_numbers.remove(&(side, client.clone()));
                let (secrets, pools) = match side {
                    Side::Primary => (&mut self.secrets_primary, &mut self.client_pool_primary),
                    Side::Shadow => (&mut self.secrets_shadow, &mut self.client_pool_shadow),
                };
                let secret = secrets.remove(&client).map_or(0, |s| s.len());
                let pool = pools.remove(&client).map_or(0, |p| p.len());
                Some(client.len() + secret + pool + PAIR_OVERHEAD)
            }
            Beside::Srp(block) => self.srp.remove(&block).map(|_| block.len() + SRP_COST),
        };
        self.bytes = self.bytes.saturating_sub(cost.unwrap_or(0));
    }

    /// Forgets one pair, under all its names.
    pub(super) fn forget(&mut self, i: usize) {
        let Some(pair) = self.pairs.remove(&i) else {
            return;
        };
        for alias in self.aliases.remove(&i).unwrap_or_default() {
            self.primary.remove(&alias);
            self.bytes = self.bytes.saturating_sub(alias.len() + PAIR_OVERHEAD / 2);
        }
        if self.primary.get(&pair.primary) == Some(&i) {
            self.primary.remove(&pair.primary);
        }
        if self.shadow.get(&pair.shadow) == Some(&i) {
            self.shadow.remove(&pair.shadow);
        }
        if pair.kind == "totp-secret" {
            self.totp.retain(|&t| t != i);
        }
        self.bytes = self
            .bytes
            .saturating_sub(pair.primary.len() + pair.shadow.len() + PAIR_OVERHEAD);
        self.forgotten += 1;
    }
}
