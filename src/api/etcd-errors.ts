// The member's error table, imported in one place: the API layer answers these, and moving the
// table (it is headed out of src/server) touches one line here.
export { Code, Errors, EtcdError } from '../errors.ts';
