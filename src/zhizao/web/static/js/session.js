// The signed-in user and what their role may do (roles as in zhizao.security.model).
const ROLES = ['viewer', 'operator', 'engineer', 'admin'];

export const session = { user: null };

export function can(role) {
  return !!session.user && ROLES.indexOf(session.user.role) >= ROLES.indexOf(role);
}
